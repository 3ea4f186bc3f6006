/**
 * hubvisor: Erlang/OTP-grade supervision and a cluster-wide process hub for TypeScript.
 * Every public name is re-exported here by name; each layer's module documents its own.
 */
export { HubvisorError, InvalidOptionError } from "./errors.js";
export { consoleLogger, type Logger, silentLogger } from "./logger.js";
export * from "./process/index.js";
export * from "./server/index.js";
