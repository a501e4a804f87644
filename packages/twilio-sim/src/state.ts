import { defaultFaults, type Faults } from './faults.js';

export type MessageStatus = 'accepted' | 'queued' | 'sent' | 'delivered' | 'undelivered' | 'failed';

/** A message the sim accepted; the lifecycle mutates it as statuses progress. */
export interface StoredMessage {
  sid: string;
  accountSid: string;
  to: string;
  /** null until a sender is picked from the pool when only MessagingServiceSid was given. */
  from: string | null;
  messagingServiceSid: string | null;
  body: string;
  numSegments: number;
  status: MessageStatus;
  errorCode: number | null;
  errorMessage: string | null;
  price: string | null;
  dateCreated: Date;
  dateUpdated: Date;
  dateSent: Date | null;
}

interface CallbackAttempt {
  status: MessageStatus;
  at: Date;
  /** null when the connection failed or timed out. */
  httpStatus: number | null;
}

/** One POST to Messages.json, whatever became of it. */
export interface ReceivedCreate {
  to: string | null;
  from: string | null;
  messagingServiceSid: string | null;
  body: string | null;
  statusCallback: string | null;
  validityPeriod: number | null;
  attempt: number | null;
  receivedAt: Date;
  /** Set when the sim refused the request (validation, magic number or injected fault). */
  refusal: number | null;
  /** True while (or after) a timeout fault holds the request without an answer. */
  heldWithoutAnswer: boolean;
  /** The HTTP status and Twilio code the client was answered with; null while held. */
  response: { httpStatus: number; code: number | null } | null;
  message: StoredMessage | null;
  callbacks: CallbackAttempt[];
}

export class SimState {
  faults: Faults = defaultFaults();
  readonly received: ReceivedCreate[] = [];
  readonly callbackTotals = { sent: 0, failed: 0 };
  private readonly bySid = new Map<string, StoredMessage>();

  record(entry: ReceivedCreate): void {
    this.received.push(entry);
  }

  store(entry: ReceivedCreate, message: StoredMessage): void {
    entry.message = message;
    this.bySid.set(message.sid, message);
  }

  message(sid: string): StoredMessage | undefined {
    return this.bySid.get(sid);
  }

  /** Newest first, as Twilio lists them. */
  messages(): StoredMessage[] {
    return [...this.bySid.values()].reverse();
  }

  reset(): void {
    this.faults = defaultFaults();
    this.received.length = 0;
    this.bySid.clear();
    this.callbackTotals.sent = 0;
    this.callbackTotals.failed = 0;
  }
}
