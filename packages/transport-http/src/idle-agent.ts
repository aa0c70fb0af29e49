import type { ClientRequest, Agent as HttpAgent } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import type { Socket } from 'node:net';

/** node:http's margin under a server's `Keep-Alive: timeout=…` hint, ms. */
const HINT_MARGIN_MS = 1_000;

type KeepSocketAlive = (socket: Socket) => boolean;

/**
 * Makes `agent` close a keep-alive socket once it has been free for `idleMs` (or for the server's
 * `Keep-Alive: timeout=…` hint less 1 s, when shorter), like node:http's `timeout` agent option,
 * but with the timer armed only while the socket is free. The agent option keeps it on a socket
 * in use as well: every read and write re-arms it, and every request adds and removes a
 * `timeout` listener, a measurable share of a small call's client CPU (issue 16). The agent's own
 * `timeout` handler destroys a socket that times out in its free list; a socket in use has no
 * timeout, so a slow answer is bounded by the transport's attempt timer alone, as before.
 */
export function closeWhenIdle<A extends HttpAgent | HttpsAgent>(agent: A, idleMs: number): A {
  const keep = (agent.keepSocketAlive as unknown as KeepSocketAlive).bind(agent);
  const reuse = agent.reuseSocket.bind(agent);
  const patched = agent as unknown as {
    keepSocketAlive: KeepSocketAlive;
    reuseSocket: (socket: Socket, request: ClientRequest) => void;
  };
  patched.keepSocketAlive = (socket) => {
    if (!keep(socket)) return false;
    socket.setTimeout(Math.min(idleMs, hintedIdleMs(socket)));
    return true;
  };
  patched.reuseSocket = (socket, request) => {
    socket.setTimeout(0);
    reuse(socket, request);
  };
  return agent;
}

/** The server's keep-alive hint less the margin, ms (Infinity without one). */
function hintedIdleMs(socket: Socket): number {
  const response = (socket as { _httpMessage?: { res?: { headers: Record<string, unknown> } } })._httpMessage
    ?.res;
  const hint = response?.headers['keep-alive'];
  if (typeof hint !== 'string') return Number.POSITIVE_INFINITY;
  const seconds = /^timeout=(\d+)/.exec(hint)?.[1];
  return seconds === undefined ? Number.POSITIVE_INFINITY : Number(seconds) * 1000 - HINT_MARGIN_MS;
}
