export {
  type Authenticate,
  type AuthenticationFailure,
  type AuthenticationRequest,
  refuse,
} from './authentication.js';
export { createServer, type DrainOptions, type RpcServer, type ServerOptions } from './create-server.js';
export { ServerDefaults } from './defaults.js';
export {
  type ApiHandlers,
  implement,
  type TypedHandler,
  type TypedMethodDefinition,
} from './implement.js';
export { InFlightLimit } from './in-flight-limit.js';
export type {
  InstrumentedRequest,
  RequestObservation,
  RequestOutcome,
  ServerInstrumentation,
} from './instrumentation.js';
export type { HandlerContext, MethodDefinition, MethodHandler, MethodTable, RawParams } from './types.js';
