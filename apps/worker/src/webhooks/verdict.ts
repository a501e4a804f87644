/** What a response, or its absence, says of one attempt. */
export const isSuccess = (r: { status: number | undefined }) =>
  r.status !== undefined && r.status >= 200 && r.status < 300;

/** What a group's attempts, in the order they were made, say of their endpoint. */
export interface EndpointVerdict {
  anySucceeded: boolean;
  /** Failures after the last success; all of them when none succeeded. */
  failuresInARow: number;
  /** It answered 410 Gone: the receiver says the endpoint is no more. */
  gone: boolean;
}

export function endpointVerdict(results: readonly { status: number | undefined }[]): EndpointVerdict {
  const lastSuccess = results.findLastIndex(isSuccess);
  return {
    anySucceeded: lastSuccess >= 0,
    failuresInARow: results.length - 1 - lastSuccess,
    gone: results.some((r) => r.status === 410),
  };
}
