import { SegmentedMessage } from 'sms-segments-calculator';

export type Encoding = 'GSM-7' | 'UCS-2';

export interface SegmentInfo {
  segments: number;
  encoding: Encoding;
}

/** Segment count and encoding as Twilio bills them (Twilio's own calculator). */
export function countSegments(body: string): SegmentInfo {
  const m = new SegmentedMessage(body);
  return { segments: m.segmentsCount, encoding: m.encodingName };
}

/** Twilio refuses longer bodies with 21617. */
export const MAX_BODY_LENGTH = 1600;
