/** Property tests of the HTTP Range header. */
import { byteRangeProperties, byteRangeReplays } from '../../fuzz/properties/byte-range.js';
import { describeFuzz } from '../../fuzz/suite.js';

describeFuzz('the HTTP Range header', byteRangeProperties, byteRangeReplays);
