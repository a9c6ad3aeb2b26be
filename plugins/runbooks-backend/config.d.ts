export interface Config {
  /** Configuration of the runbooks plugin. */
  runbooks?: {
    /**
     * The agent: chooses among the runbooks that apply to an entity for an incident and fills
     * their parameters. It never runs anything: proposals are validated like a person's request.
     */
    agent?: {
      /** The planner's id: `anthropic`, `offline`, or one a module added. Default: `anthropic` with an API key, else `offline`. */
      planner?: string;
      /** `suggest` (default): proposals wait for a person. `dry-run`: a valid proposal starts as a dry-run. */
      mode?: 'suggest' | 'dry-run';
      /** Proposals kept per incident; more are refused. Default 1. */
      maxProposals?: number;
      /** Recent executions of the entity given to the planner. Default 20. */
      historyLimit?: number;
      /** Time a planner may take, in milliseconds. Default 60000. */
      planTimeoutMs?: number;
      anthropic?: {
        /**
         * The Anthropic API key; without it the offline planner and template summaries are used.
         * @visibility secret
         */
        apiKey?: string;
        /** A base URL other than Anthropic's (a gateway, or a local stand-in for tests). */
        baseUrl?: string;
        /** The model. Default: a current Claude Sonnet. */
        model?: string;
        /** max_tokens of each call. Default 1024. */
        maxTokens?: number;
        /** Timeout of each call, in milliseconds. Default 30000. */
        timeoutMs?: number;
        /** Retries of a failed call. Default 2. */
        maxRetries?: number;
        /** Tokens of untrusted text (alert fields, logs, tool outputs) a call may carry. Default 2000. */
        untrustedTokenBudget?: number;
      };
      intake?: {
        /** An alert label whose value is the entity ref. Default `backstage_entity`. */
        entityLabel?: string;
        /** Alert label → entity annotation it must equal, to find the entity an alert is about. */
        labelAnnotations?: { [label: string]: string };
      };
    };
    /**
     * Signed provenance: every step that ends and every execution that ends is recorded by an
     * in-toto statement in a Sigstore bundle (DSSE), hash-chained per execution.
     */
    provenance?: {
      /**
       * PEM of the ECDSA P-256 private key that signs (PKCS#8 or SEC1), e.g. from a secret.
       * @visibility secret
       */
      signingKey?: string;
      /** A file holding that PEM, relative to the backend's working directory. */
      signingKeyFile?: string;
      /** Generate signingKeyFile on first start when it does not exist (local development only). */
      generateKey?: boolean;
      /**
       * Public keys (PEM, or files holding one) of retired signing keys, so statements they signed
       * still verify after a rotation.
       */
      trustedKeys?: string[];
      /**
       * Keyless signing (Fulcio certificate for an OIDC identity, Rekor transparency log) for
       * deployments with network access. Not exercised by this repository's tests.
       */
      keyless?: {
        /**
         * The OIDC identity token (expires: prefer identityTokenFile).
         * @visibility secret
         */
        identityToken?: string;
        /** A file holding the OIDC identity token, read again for every signature. */
        identityTokenFile?: string;
        fulcioURL?: string;
        rekorURL?: string;
        certificateIssuer?: string;
        certificateIdentityURI?: string;
      };
    };
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
    /**
     * How far a mutating step's change reaches and what it needs before it applies. The level is
     * the highest any measure reaches: dependents (entities that depend on the target or are its
     * parts, transitively, in the catalog), objects the plan changes, and hosts it changes.
     */
    blastRadius?: {
      /**
       * A measure reaches a level when it is at least that level's threshold; each must increase
       * from medium to critical. Defaults: medium {dependents 1, objects 5, hosts 2}, high
       * {3, 20, 5}, critical {20, 100, 20}. Keys left out keep their default.
       */
      thresholds?: {
        medium?: { dependents?: number; objects?: number; hosts?: number };
        high?: { dependents?: number; objects?: number; hosts?: number };
        critical?: { dependents?: number; objects?: number; hosts?: number };
      };
      /**
       * What each level requires: run, approve (one approval), two-approvals (one from an owner of
       * an affected entity) or refuse. Defaults: low run, medium approve, high two-approvals,
       * critical refuse. A runbook's spec.blastRadius can make these stricter, never looser.
       */
      actions?: {
        low?: 'run' | 'approve' | 'two-approvals' | 'refuse';
        medium?: 'run' | 'approve' | 'two-approvals' | 'refuse';
        high?: 'run' | 'approve' | 'two-approvals' | 'refuse';
        critical?: 'run' | 'approve' | 'two-approvals' | 'refuse';
      };
      /** Affected entities with one of these lifecycles do not count. Default [experimental]. */
      ignoreLifecycles?: string[];
      /**
       * An affected entity whose runbooks.backstage.io/tier annotation (or tier label) is one of
       * these makes the level at least high. Default ['1', 'tier-1', 'critical'].
       */
      criticalTiers?: string[];
    };
    /** Approvals of mutating steps. */
    approvals?: {
      /**
       * Distinct approvers any approval needs, at least (it can only raise the policy's count).
       * Default 1.
       */
      minApprovers?: number;
      /**
       * How long an approval request and an approval stay valid, as a duration. A request older
       * than this is planned afresh before anyone can approve it. Default 30m.
       */
      expiry?: string;
      /** How often waiting approvals are checked for escalation to the next on-call level. Default 30. */
      escalationCheckSeconds?: number;
    };
    /** Who is on call per team, for escalating approvals that wait too long. */
    onCall?: {
      teams?: Array<{
        /** The group: group:default/team-checkout, or a bare name in the default namespace. */
        group: string;
        /** Escalation levels, notified in order; level 1 as soon as an approval is requested. */
        levels: Array<{
          /** How long this level has before the next is notified, as a duration (10m). Optional on the last level. */
          escalateAfter?: string;
          /** The level's on-call people are the union of its rotations' current persons. */
          rotations: Array<{
            /** User refs in rotation order; a bare name means user:default/name. */
            users: string[];
            /** How often the rotation hands off to the next user, as a period (1w, 1d, 12h). Default 1w. */
            handoff?: string;
            /** When users[0]'s first turn begins, as an ISO 8601 time. Default 1970-01-05T00:00:00Z (a Monday). */
            start?: string;
            /** When the rotation is on call, in UTC; none means always. */
            windows?: Array<{
              /** Days a window starts on (mon ... sun). Default every day. */
              days?: Array<
                'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun'
              >;
              /** Start, HH:MM in UTC. */
              from: string;
              /** End, HH:MM in UTC or 24:00; before `from` for a window across midnight. */
              to: string;
            }>;
          }>;
        }>;
      }>;
    };
  };
}
