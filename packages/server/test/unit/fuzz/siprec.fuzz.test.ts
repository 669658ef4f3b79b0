/** Property tests of SIPREC metadata and bodies. */
import { siprecProperties, siprecReplays } from '../../fuzz/properties/siprec.js';
import { describeFuzz } from '../../fuzz/suite.js';

describeFuzz('SIPREC metadata and bodies', siprecProperties, siprecReplays);
