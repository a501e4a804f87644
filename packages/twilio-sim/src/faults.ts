export interface Faults {
  /** Share of creates refused with a code picked from errorCodes. */
  errorRate: number;
  errorCodes: number[];
  /** Share of creates refused with 429 / 20429 and `Retry-After: 1`. */
  rate429: number;
  /** Added before every create is answered. */
  latencyMs: number;
  /** Share of creates held without an answer until the client gives up (or the sim closes). */
  timeoutRate: number;
  /** Share of creates that are stored and progress normally but are answered with 500 / 20500. */
  createThenFailRate: number;
  /** Share of created messages that end `undelivered` (30003). */
  undeliveredRate: number;
  /** Share of created messages that end `failed` (30008); drawn before undeliveredRate. */
  failedRate: number;
}

export function defaultFaults(): Faults {
  return {
    errorRate: 0,
    errorCodes: [20500],
    rate429: 0,
    latencyMs: 0,
    timeoutRate: 0,
    createThenFailRate: 0,
    undeliveredRate: 0,
    failedRate: 0,
  };
}

const rate = { type: 'number', minimum: 0, maximum: 1 } as const;

/** Fastify (ajv) validates POST /_sim/faults against this; omitted fields fall back to the defaults. */
export const faultsBodySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    errorRate: rate,
    errorCodes: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'integer',
        anyOf: [{ enum: [20429, 20500, 20503] }, { minimum: 21000, maximum: 21999 }],
      },
    },
    rate429: rate,
    latencyMs: { type: 'integer', minimum: 0, maximum: 600_000 },
    timeoutRate: rate,
    createThenFailRate: rate,
    undeliveredRate: rate,
    failedRate: rate,
  },
} as const;

export function httpStatusForCode(code: number): number {
  if (code === 20429) return 429;
  if (code === 20500) return 500;
  if (code === 20503) return 503;
  return 400;
}

export function roll(probability: number): boolean {
  return probability > 0 && Math.random() < probability;
}
