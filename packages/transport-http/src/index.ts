export { HttpClientDefaults, HttpServerDefaults } from './defaults.js';
export {
  createHttpHandler,
  type HttpHandler,
  type HttpHandlerOptions,
  isJsonContentType,
} from './http-handler.js';
export {
  type HttpListener,
  type HttpListenerOptions,
  type HttpServerOptions,
  type HttpTransportServerOptions,
  httpListener,
  listenHttpUrl,
} from './http-listener.js';
export {
  type HeadersOption,
  type HttpTransport,
  type HttpTransportOptions,
  httpTransport,
} from './http-transport.js';
export { mapHttpError } from './map-error.js';
export { parseRetryAfter } from './retry-after.js';
export { HttpStatusOf, statusFor } from './status.js';
