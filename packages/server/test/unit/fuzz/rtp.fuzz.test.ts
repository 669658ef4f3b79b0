/** Property tests of the RTP header parser, RTCP detection, telephone events and the audio decoders. */
import { rtpProperties, rtpReplays } from '../../fuzz/properties/rtp.js';
import { describeFuzz } from '../../fuzz/suite.js';

describeFuzz('RTP, telephone events and decoders', rtpProperties, rtpReplays);
