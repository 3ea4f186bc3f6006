/**
 * `hubvisor/observe`: what a running hubvisor program shows of itself — the event stream
 * (`subscribe`, on `node:diagnostics_channel`), metrics (Prometheus text and OpenTelemetry), and
 * the Observer, a live web page of the whole cluster served by any node. See `docs/observe.md`.
 */
export {
  type CallEvent,
  EVENT_CHANNELS,
  type HubEvent,
  type HubvisorEvent,
  type MailboxEvent,
  type NodeDownEvent,
  type NodeUpEvent,
  type ProcessExitEvent,
  type ProcessSpawnEvent,
  type SubscribeOptions,
  type SupervisorEvent,
  type SupervisorReportKind,
  sampleCalls,
  subscribe,
  watchMailboxes,
} from "./observe/events.js";
