import type { CallbackSender } from './callbacks.js';
import type { SimState } from './state.js';
import type { TaskRunner } from './tasks.js';

/** What the route modules share. */
export interface SimContext {
  accountSid: string;
  authToken: string;
  /** In the order given; the first one is the sender a Messaging Service "picks". */
  phoneNumbers: string[];
  callbackDelayMs: number;
  state: SimState;
  runner: TaskRunner;
  callbacks: CallbackSender;
}
