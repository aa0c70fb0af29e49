/**
 * The public surface of `@resilient-rpc/core`: a curated list, grouped by feature. Everything
 * here is documented and kept stable; modules' other exports are internal. Test helpers live in
 * `@resilient-rpc/core/testing`.
 */

// Availability: models, statistics and the tracker that measures a client.
export {
  type AvailabilityEventSource,
  AvailabilityInputError,
  type AvailabilityReport,
  type AvailabilityReportOptions,
  AvailabilityTracker,
  type AvailabilityTrackerOptions,
  binomialStandardError,
  type CommonModeInput,
  type CorrelatedTerm,
  classifyOutcome,
  commonModeAvailability,
  commonModeUnavailability,
  type DetectionRecord,
  type EndpointReport,
  type FailoverInput,
  type FaultExposure,
  failoverAvailability,
  failoverUnavailability,
  type HaInput,
  haAvailability,
  haUnavailability,
  type Interval,
  inInterval,
  type KOfNInput,
  kOfNAvailability,
  kOfNUnavailability,
  type MeasuredRatio,
  ninesFromUnavailability,
  normalQuantile,
  type Outcome,
  type OutcomeClass,
  type OutcomeClassifier,
  oneMinusPowComplement,
  type Prediction,
  type Predictions,
  parallelAvailability,
  parallelUnavailability,
  powComplement,
  predictFromSchedule,
  type RetryInput,
  retryAvailability,
  retryUnavailability,
  type SchedulePrediction,
  type SchedulePredictionInput,
  type SchedulePredictions,
  type SpoInput,
  type SteadyStateInput,
  serialAvailability,
  serialUnavailability,
  spoAvailability,
  spoUnavailability,
  steadyStateAvailability,
  steadyStateUnavailability,
  unavailabilityNines,
  wilsonInterval,
  Z_95,
  zForConfidence,
} from './availability/index.js';
// The client: create it, call through it, and its options.
export { createClient, type RpcClient } from './client/create-client.js';
export { ClientDefaults } from './client/defaults.js';
export type { ApiProxy } from './client/proxy.js';
export type {
  BatchCall,
  BatchOptions,
  BatchResult,
  BulkheadLimits,
  CallOptions,
  ClientOptions,
  ClientStats,
  EndpointConfig,
  EndpointResolver,
  EndpointStats,
  HedgingOptions,
  MethodOptions,
  RetryOptions,
  StallDetectionOptions,
} from './client/types.js';
export {
  HeartbeatDefaults,
  HeartbeatMonitor,
  type HeartbeatOptions,
  type HeartbeatVerdict,
} from './detection/heartbeat.js';
export {
  LatencyTracker,
  LatencyTrackerDefaults,
  type LatencyTrackerOptions,
} from './detection/latency-tracker.js';
export {
  OutlierDetectionDefaults,
  type OutlierDetectionOptions,
  OutlierDetector,
} from './detection/outlier-detector.js';
export { PhiAccrualDefaults, PhiAccrualDetector, type PhiAccrualOptions } from './detection/phi-accrual.js';
// Errors: one class per failure kind, a guard that narrows, and helpers for adapters.
export {
  CancelledError,
  ConnectionLostError,
  isRpcError,
  NotSentError,
  OverloadedError,
  ProtocolError,
  RejectedError,
  RemoteError,
  type RpcFailure,
  type RpcFailureOf,
  retriesExhausted,
  rpcErrorOfKind,
  TimeoutError,
  toRpcError,
} from './errors/kinds.js';
export { FAILURE_KINDS, type FailureKind, RpcError, type RpcErrorOptions } from './errors/rpc-error.js';
// Events the client emits.
export type { ClientEventListener, ClientEventName, ClientEvents, EndpointState } from './events/types.js';
// JSON-RPC 2.0: message types, codes, metadata, and the helpers transports use.
export { type ErrorCode, ErrorCodes, NOT_PROCESSED_CODES } from './protocol/codes.js';
export {
  errorResponse,
  isNotification,
  type ParseResult,
  parseJson,
  parseResponseText,
  type ValidationResult,
  validateRequest,
  validateResponse,
} from './protocol/messages.js';
export {
  MetadataHeaders,
  metadataFromHeaders,
  metadataToHeaders,
  parseTraceparent,
  parseTracestate,
  sanitizeMetadata,
} from './protocol/metadata.js';
export type {
  JsonRpcErrorObject,
  JsonRpcFailure,
  JsonRpcId,
  JsonRpcParams,
  JsonRpcRequest,
  JsonRpcResponse,
  JsonRpcSuccess,
  WireMetadata,
} from './protocol/types.js';
// Policy options and the building blocks usable on their own.
export { BackoffDefaults, type BackoffOptions, backoffCeiling, backoffDelay } from './recovery/backoff.js';
export {
  BALANCER_NAMES,
  type Balancer,
  type BalancerCandidate,
  type BalancerName,
  createBalancer,
} from './recovery/balancer.js';
export { Bulkhead, type BulkheadOptions } from './recovery/bulkhead.js';
export {
  type BreakerState,
  CircuitBreaker,
  CircuitBreakerDefaults,
  type CircuitBreakerOptions,
} from './recovery/circuit-breaker.js';
export { MAX_DEADLINE_MS, validateDeadlineMs } from './recovery/deadline.js';
export { ReconnectDefaults, type ReconnectOptions, Reconnector } from './recovery/reconnect.js';
export { RetryBudget, RetryBudgetDefaults, type RetryBudgetOptions } from './recovery/retry-budget.js';
// The server.
export {
  type ApiHandlers,
  type Authenticate,
  type AuthenticationFailure,
  type AuthenticationRequest,
  createServer,
  type DrainOptions,
  type HandlerContext,
  InFlightLimit,
  type InstrumentedRequest,
  implement,
  type MethodDefinition,
  type MethodHandler,
  type MethodTable,
  type RawParams,
  type RequestObservation,
  type RequestOutcome,
  type RpcServer,
  refuse,
  ServerDefaults,
  type ServerInstrumentation,
  type ServerOptions,
  type TypedHandler,
  type TypedMethodDefinition,
} from './server/index.js';
// The transport contract adapters implement.
export type {
  ClientConnection,
  ClientTransport,
  ConnectionEvent,
  ConnectionStatus,
  ConnectOptions,
  DiscoverOptions,
  Dispatcher,
  DispatcherLimits,
  DispatchOptions,
  DispatchResult,
  DispatchStatus,
  IncomingContext,
  IncomingCredentials,
  PingOptions,
  SendOptions,
  ServerListener,
  TransportCapabilities,
} from './transport.js';
// Building blocks the transport adapters share (docs/architecture.md, "Transport support").
export { ConnectionEvents } from './transport-support/connection-events.js';
export {
  type ConnectionEntry,
  type ConnectionRefusal,
  ConnectionTable,
  type ConnectionTableOptions,
} from './transport-support/connection-table.js';
export { type ListenAddress, type ListenUrlForm, parseListenUrl } from './transport-support/listen-url.js';
export {
  type AbortSource,
  PendingCall,
  type PendingCallErrors,
  PendingCalls,
  type PendingCallsOptions,
} from './transport-support/pending-calls.js';
export { QuietWait } from './transport-support/quiet-wait.js';
export { requestMeta } from './transport-support/request-meta.js';
// Time and randomness (injected into every policy).
export { type Clock, systemClock, type TimerHandle, type TimerOptions } from './util/clock.js';
export { defaultRandom, type Random, seededRandom } from './util/random.js';
