/**
 * `@resilient-rpc/core/transport`: the building blocks transport adapters share
 * (docs/architecture.md, "Transport support"), for the adapters of this repository and for
 * anyone writing one. Applications do not need it. The blocks that were exported from the
 * core's root before this entry existed stay there too.
 */

/** The dispatcher's status of a JSON-RPC answer (what a listener maps to its protocol's status). */
export { statusOf as dispatchStatusOf } from '../server/dispatcher.js';
export { Answering } from '../transport-support/answering.js';
export { boundedVerdict, type VerdictOutcome } from '../transport-support/bounded-verdict.js';
export {
  aborted,
  closedByClient,
  connectFailed,
  gaveUp,
  notOpen,
  peerSilent,
  queueFull,
  timedOut,
} from '../transport-support/connection-errors.js';
export { ConnectionEvents } from '../transport-support/connection-events.js';
export {
  type ConnectionEntry,
  type ConnectionRefusal,
  ConnectionTable,
  type ConnectionTableOptions,
} from '../transport-support/connection-table.js';
export {
  DiscoveryRounds,
  type DiscoveryRoundsOptions,
  type DiscoverySource,
  type ProbeResult,
} from '../transport-support/discovery-rounds.js';
export { HeaderIncoming, headerRecord, metadataFromRecord } from '../transport-support/header-incoming.js';
export { flattenHeaders } from '../transport-support/headers.js';
export { certificateUser, LazyIncoming } from '../transport-support/incoming.js';
export {
  boundUrl,
  type ListenAddress,
  type ListenUrlForm,
  parseListenUrl,
} from '../transport-support/listen-url.js';
export { type CallBounds, OpenWait, type OpenWaitErrors } from '../transport-support/open-wait.js';
export {
  checkPositive,
  type NumberRule,
  type OptionsOf,
  positiveNumber,
  type WithDefaults,
  withDefaults,
} from '../transport-support/options.js';
export {
  type AbortSource,
  PendingCall,
  type PendingCallErrors,
  PendingCalls,
  type PendingCallsOptions,
} from '../transport-support/pending-calls.js';
export {
  PersistentConnection,
  type PersistentConnectionOptions,
} from '../transport-support/persistent-connection.js';
export {
  PeerActivity,
  type PingedPeer,
  PingRounds,
  type PingRoundsOptions,
} from '../transport-support/ping-rounds.js';
export { QuietWait } from '../transport-support/quiet-wait.js';
export { Reachability, type ReachabilityOptions } from '../transport-support/reachability.js';
export {
  abandonedReply,
  CLOSED_WHILE_HANDLING,
  ReplyOutbox,
  type ReplySink,
} from '../transport-support/reply-outbox.js';
export { ReplyTokens } from '../transport-support/reply-tokens.js';
export { requestMeta } from '../transport-support/request-meta.js';
export { requestText } from '../transport-support/request-text.js';
export { SharedPool } from '../transport-support/shared-pool.js';
export { SilenceWatch, type SilenceWatchOptions } from '../transport-support/silence-watch.js';
export { TickClock } from '../transport-support/tick-clock.js';
export { unserialisable } from '../transport-support/unserialisable.js';
export {
  type BackpressuredStream,
  HeldUntilWritten,
  WriteBackpressure,
  type WriteBackpressureOptions,
} from '../transport-support/write-backpressure.js';
