export interface Config {
  /** Configuration of the runbooks plugin. */
  runbooks?: {
    /** The execution engine. */
    engine?: {
      /** Executions one backend replica runs at once. Default 20. */
      concurrency?: number;
      /** How long a worker's claim on an execution lasts without a heartbeat. Default 15. */
      leaseSeconds?: number;
      /** How often a worker renews its leases. Default: a fifth of leaseSeconds. */
      heartbeatSeconds?: number;
      /** How often an idle worker looks for runnable executions. Default 1000. */
      pollIntervalMs?: number;
      /** How often running executions are checked against kill switches and cancels. Default 250. */
      killSwitchCheckMs?: number;
      /** Timeout of one tool call unless the step sets its own, as a duration (5m). Default 5m. */
      stepTimeout?: string;
      /** How long an approval stays valid, as a duration. Default 1h. */
      approvalTtl?: string;
      /** How long a stopping backend waits for running steps to reach a boundary. Default 10s. */
      shutdownGrace?: string;
    };
  };
}
