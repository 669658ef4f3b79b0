/** Property tests of the SDP parser and answer builder, and of the SDES crypto attribute parser. */
import { sdpProperties, sdpReplays } from '../../fuzz/properties/sdp.js';
import { describeFuzz } from '../../fuzz/suite.js';

describeFuzz('SDP and SDES', sdpProperties, sdpReplays);
