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
    /** The MCP tool servers runbook steps call, addressed as `<server name>/<tool>`. */
    tools?: {
      servers?: Array<
        | {
            /** Prefix of its tools' names: `kubernetes` serves `kubernetes/get-deployment`. */
            name: string;
            /** Default stdio: the backend starts the server as a child process. */
            transport?: 'stdio';
            /** The program; a bare name is looked up in node_modules/.bin, then on PATH. */
            command: string;
            /** Its arguments, passed as an argv array (never through a shell). */
            args?: string[];
            /**
             * Environment of the server, on top of PATH and HOME (nothing else is inherited).
             * @visibility secret
             */
            env?: { [name: string]: string };
            /** Working directory of the server. */
            cwd?: string;
          }
        | {
            name: string;
            transport: 'streamable-http';
            /** The server's MCP endpoint, e.g. https://tools.internal/mcp. */
            url: string;
            /**
             * Headers sent with every request (e.g. authorization).
             * @visibility secret
             */
            headers?: { [name: string]: string };
          }
      >;
      /** How long starting a server (spawn, initialize, list tools) may take. Default 30. */
      startTimeoutSeconds?: number;
      /** Interval of the ping health check of started servers. Default 30. */
      healthCheckIntervalSeconds?: number;
      /** Bytes of a tool's output kept in the record; the rest is cut off with a marker. Default 262144. */
      maxOutputBytes?: number;
    };
  };
}
