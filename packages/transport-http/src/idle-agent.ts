import type { Agent as HttpAgent } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import type { Socket } from 'node:net';

/** node:http's margin under a server's `Keep-Alive: timeout=…` hint, ms. */
const HINT_MARGIN_MS = 1_000;

type KeepSocketAlive = (socket: Socket) => boolean;

/** A socket's idle timer (made when the socket is first freed), under this key on the socket. */
const IDLE = Symbol('idleTimer');
interface IdleTimer {
  readonly timer: NodeJS.Timeout;
  readonly ms: number;
}
type Tracked = Socket & { [IDLE]?: IdleTimer };

/**
 * Makes `agent` close a keep-alive socket once it has been free for `idleMs` (or for the server's
 * `Keep-Alive: timeout=…` hint less 1 s, when shorter), like node:http's `timeout` agent option,
 * but only while the socket is free. The agent option keeps the timer on a socket in use as well:
 * every read and write re-arms it, and every request adds and removes a `timeout` listener, a
 * measurable share of a small call's client CPU (issue 16). Here each socket has one timer,
 * made when it is first freed and re-armed (`refresh()`, no allocation) each time it is freed
 * again; nothing runs when the socket is taken for a request. When the timer fires it closes the
 * socket only if it is still in the agent's free list (a socket taken since then is in use: its
 * next release re-arms the timer), so a slow answer is bounded by the transport's attempt timer
 * alone, as before. (Before: `socket.setTimeout` on every release and `setTimeout(0)` on every
 * reuse, a new timer and a bound function per call.)
 */
export function closeWhenIdle<A extends HttpAgent | HttpsAgent>(agent: A, idleMs: number): A {
  const keep = (agent.keepSocketAlive as unknown as KeepSocketAlive).bind(agent);
  const patched = agent as unknown as { keepSocketAlive: KeepSocketAlive };
  const closeIfFree = (socket: Socket) => {
    if (!socket.destroyed && isFree(agent, socket)) socket.destroy();
  };
  patched.keepSocketAlive = (socket: Tracked) => {
    if (!keep(socket)) return false;
    const ms = Math.min(idleMs, hintedIdleMs(socket));
    const idle = socket[IDLE];
    if (idle?.ms === ms) idle.timer.refresh();
    else {
      if (idle === undefined) socket.once('close', () => clearTimeout(socket[IDLE]?.timer));
      else clearTimeout(idle.timer);
      socket[IDLE] = { timer: setTimeout(closeIfFree, ms, socket).unref(), ms };
    }
    return true;
  };
  return agent;
}

/** Whether `socket` is in the agent's free list (as node:http's own agent timeout checks). */
function isFree(agent: HttpAgent | HttpsAgent, socket: Socket): boolean {
  for (const name in agent.freeSockets) if (agent.freeSockets[name]?.includes(socket)) return true;
  return false;
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
