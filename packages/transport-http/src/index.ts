export { HttpClientDefaults, HttpServerDefaults } from './defaults.js';
export {
  createHttpHandler,
  type HttpHandler,
  type HttpHandlerOptions,
  HttpStatusOf,
  isJsonContentType,
  statusFor,
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
export { mapHttpError, parseRetryAfter } from './map-error.js';
