/** Property tests of pcap captures and WAV headers. */
import { containerProperties, containerReplays } from '../../fuzz/properties/container.js';
import { describeFuzz } from '../../fuzz/suite.js';

describeFuzz('pcap captures and WAV headers', containerProperties, containerReplays);
