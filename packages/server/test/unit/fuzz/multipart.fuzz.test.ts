/** Property tests of Content-Type values and multipart bodies. */
import { multipartProperties, multipartReplays } from '../../fuzz/properties/multipart.js';
import { describeFuzz } from '../../fuzz/suite.js';

describeFuzz('Content-Type values and multipart bodies', multipartProperties, multipartReplays);
