// @beacon/sdk — Beacon's client for Node 18+, browsers and Workers, with no dependencies.
//
//   import { Beacon } from '@beacon/sdk';
//   const beacon = new Beacon('https://beacon.example.com', process.env.BEACON_TOKEN);
//   beacon.track('checkout', 'completed', { plan: 'pro' });
//
// OpenTelemetry helpers are in '@beacon/sdk/otel', so this entry point stays dependency-free.

export {
  Beacon,
  BeaconDeliveryError,
  SERVER_MAX_BATCH,
  SERVER_MAX_BATCH_BYTES,
  type BeaconOptions,
  type BeaconStats,
  type ErrorOptions,
  type ItemKind,
  type JsonObject,
  type Severity,
  type TrackOptions,
} from './client.js';
export { gatewayBaseURL, gatewayHeaders, type GatewayHeaderOptions, type GatewayService } from './gateway.js';
export { backoff, parseRetryAfter } from './retry.js';
export const VERSION = '0.1.0';
