/** The Redis Cluster slot function ioredis itself uses (it ships no types). */
declare module 'cluster-key-slot' {
  /** A key's slot: CRC16 of its hash tag, or of the whole key without one, mod 16384. */
  export default function calculateSlot(key: string | Buffer): number;
}
