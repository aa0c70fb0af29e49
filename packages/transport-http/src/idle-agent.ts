import type { Agent as HttpAgent } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import type { Socket } from 'node:net';

/** node:http's margin under a server's `Keep-Alive: timeout=…` hint, ms. */
const HINT_MARGIN_MS = 1_000;

type KeepSocketAlive = (socket: Socket) => boolean;

/** A socket's idle state (made when it is first freed). */
const IDLE = Symbol('idleTimer');
interface IdleTimer {
  /** Armed while the socket may be free; undefined once it fired while the socket was in use. */
  timer: NodeJS.Timeout | undefined;
  ms: number;
  /** When the socket was last freed (`performance.now()`). */
  freedAt: number;
}
type Tracked = Socket & { [IDLE]?: IdleTimer };

/**
 * Makes `agent` close a keep-alive socket once it has been free for `idleMs` (or the server's
 * `Keep-Alive: timeout=…` hint less 1 s, when shorter); 0: never. Unlike node:http's `timeout`
 * agent option, whose timer every read and write of a socket in use re-arms, with a `timeout`
 * listener added and removed per request (a measurable share of a small call's client CPU, issue
 * 16), each socket has one timer and a release only notes when it was freed (re-arming on every
 * release, even with `refresh()`, moved the timer in node's lists on every call). When it fires,
 * the timer closes a socket still free since then, waits out the rest for one freed again since,
 * and ends for one in use (its next release arms it). Nothing runs when a socket is taken.
 */
export function closeWhenIdle<A extends HttpAgent | HttpsAgent>(agent: A, idleMs: number): A {
  if (idleMs <= 0) return agent;
  const keep = (agent.keepSocketAlive as unknown as KeepSocketAlive).bind(agent);
  const patched = agent as unknown as { keepSocketAlive: KeepSocketAlive };
  const fire = (socket: Tracked) => {
    const idle = socket[IDLE]!;
    idle.timer = undefined;
    if (socket.destroyed || !isFree(agent, socket)) return;
    const left = idle.freedAt + idle.ms - performance.now();
    if (left > 0) idle.timer = setTimeout(fire, Math.ceil(left), socket).unref();
    else socket.destroy();
  };
  patched.keepSocketAlive = (socket: Tracked) => {
    if (!keep(socket)) return false;
    const ms = Math.min(idleMs, hintedIdleMs(socket));
    const freedAt = performance.now();
    const idle = socket[IDLE];
    if (idle === undefined) {
      socket.once('close', () => clearTimeout(socket[IDLE]?.timer));
      socket[IDLE] = { timer: setTimeout(fire, ms, socket).unref(), ms, freedAt };
    } else if (idle.ms !== ms) {
      clearTimeout(idle.timer);
      idle.ms = ms;
      idle.freedAt = freedAt;
      idle.timer = setTimeout(fire, ms, socket).unref();
    } else {
      idle.freedAt = freedAt;
      idle.timer ??= setTimeout(fire, ms, socket).unref();
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
