/**
 * Makes a werift *receiver* find the SRTP rollover counter (ROC) as RFC 3711 §3.3.1 does. The service
 * receives no RTP; werift peers that receive ours do: the benchmark's viewers and the tests' WhepViewer.
 * werift 0.25.2 counts a rollover only when a packet with a sequence number below 100 follows one
 * above 65435, and keeps the ROC and last sequence number of the last packet that authenticated. So
 * when the packets around the wrap are lost (a loss burst of about 100 packets, which a loaded
 * receiver has), or a late retransmission from before the wrap authenticates (werift steps the ROC
 * back for it) and the next new packet is above 100, that packet is decrypted with the old ROC and
 * fails authentication, and so does every later one: the viewer gets nothing more, for good, while
 * the sender (whose index, kept by RtpWriter, is right) goes on. With 30 werift viewers in another
 * process (the benchmark's ~4 Mbit/s stream, 2 cores), 3 of 300 viewers stopped that way within 15 s:
 * last packet authenticated 65494 then 146 rejected; 65433 then 151; 36, then 65501 resent, then
 * every new packet rejected.
 *
 * RFC 3711 §3.3.1 takes the index nearest to the last one: ROC + 1 when the last sequence number is in
 * the upper half and the new one more than 2^15 below it, ROC - 1 in the opposite case. Applied on one
 * SRTP context by replacing the instance's `updateRolloverCount`; no werift file is patched.
 */
import type { RTCDtlsTransport } from "werift";

const HALF = 0x8000;

/** werift's SRTP context of one direction (its class is not exported under this name). */
type SrtpContext = RTCDtlsTransport["srtp"]["remoteContext"];
type SrtpSsrcState = Parameters<SrtpContext["updateRolloverCount"]>[1];

/** Makes this SRTP context estimate each packet's ROC as RFC 3711 §3.3.1 does. */
export function estimateRolloverAsRfc3711(context: SrtpContext): void {
  // werift calls this on a copy of the SSRC's state, kept only when the packet authenticates.
  context.updateRolloverCount = (sequenceNumber: number, s: SrtpSsrcState) => {
    if (!s.rolloverHasProcessed) {
      s.rolloverHasProcessed = true;
    } else if (s.lastSequenceNumber < HALF) {
      if (sequenceNumber - s.lastSequenceNumber > HALF && s.rolloverCounter > 0) s.rolloverCounter--;
    } else if (s.lastSequenceNumber - HALF > sequenceNumber) {
      s.rolloverCounter++;
    }
    s.lastSequenceNumber = sequenceNumber;
  };
}

/**
 * Makes this transport's SRTP receiver (created when DTLS connects) estimate the ROC as RFC 3711 does.
 * Call it before the transport starts, e.g. before setRemoteDescription.
 */
export function receiveAcrossRollovers(transport: RTCDtlsTransport): void {
  const startSrtp = transport.startSrtp.bind(transport);
  transport.startSrtp = () => {
    startSrtp();
    estimateRolloverAsRfc3711(transport.srtp.remoteContext);
  };
}
