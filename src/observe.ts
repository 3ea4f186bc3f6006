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
export {
  type AgentProtocol,
  type NodeSnapshot,
  OBSERVER_AGENT_NAME,
  type ObserverAgent,
  type ObserverAgentOptions,
  startObserverAgent,
} from "./observe/agent.js";
export type { Labels, MetricFamily, MetricKind } from "./observe/metric-set.js";
export {
  exitKind,
  METRICS,
  Metrics,
  type MetricsOptions,
  type OtelBatchResult,
  type OtelHistogram,
  type OtelInstrumentOptions,
  type OtelMeter,
  type OtelObservable,
} from "./observe/metrics.js";
export type { HubRow, ProcessDetail, ProcessRow, TreeRow } from "./observe/node-view.js";
export {
  type ClusterView,
  DEFAULT_OBSERVE_OPTIONS,
  type NodeView,
  type ObserveOptions,
  type Observer,
  observe,
} from "./observe/observer.js";
export type { CrashRow, EventRow, RestartRow } from "./observe/recorder.js";
