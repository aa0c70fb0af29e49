export {
  Attributes,
  DURATION_BUCKETS_SECONDS,
  INSTRUMENTATION_NAME,
  INSTRUMENTATION_VERSION,
  OTHER_METHOD,
  RPC_SYSTEM,
} from './attributes.js';
export { type ClientInstrumentationOptions, instrumentClient } from './client.js';
export { type ServerInstrumentationOptions, serverInstrumentation } from './server.js';
export { formatTraceContext, parseTraceContext } from './trace-context.js';
