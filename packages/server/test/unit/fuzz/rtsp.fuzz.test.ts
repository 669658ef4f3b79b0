/** Property tests of the RTSP framer, request parser and header readers. */
import { rtspProperties, rtspReplays } from '../../fuzz/properties/rtsp.js';
import { describeFuzz } from '../../fuzz/suite.js';

describeFuzz('RTSP requests', rtspProperties, rtspReplays);
