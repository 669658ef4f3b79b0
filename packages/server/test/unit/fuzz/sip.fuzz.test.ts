/** Property tests of the SIP message parser, the stream framer and the header parsers. */
import { sipProperties, sipReplays } from '../../fuzz/properties/sip.js';
import { describeFuzz } from '../../fuzz/suite.js';

describeFuzz('SIP', sipProperties, sipReplays);
