// Fields the services are adding in parallel (COMMON.md interface 3) that the generated schema may not
// declare yet. Every field here is optional and extends the generated type, so the code compiles both
// before and after the schema is regenerated (then a field here simply matches the generated one).
import type { Approval, StrategyRun } from './types.ts';

export type DecisionAction = 'open_long' | 'open_short' | 'add' | 'reduce' | 'close' | 'hold' | 'no_trade';

/** The structured decision an analysis ends in (CONTRACT §5 `analysis_result.decision`). */
export interface RunDecision {
  action: DecisionAction | (string & {});
  instId?: string | null;
  size?: string | null;
  entry?: string | null;
  stop?: string | null;
  target?: string | null;
  invalidation?: string | null;
  confidence?: number | null;
  reason?: string | null;
}

/**
 * A strategy run with the fields of interface 3 (`decision`, `reason`; `provider`, `model`, `orders`,
 * `toolCalls` are generated already). An intersection, so it stays valid once the generated type has them.
 */
export type RunView = StrategyRun & {
  decision?: RunDecision | null;
  /** why a failed run failed: step_limit, timeout, llm_error, finish_reason, memory_error, budget */
  reason?: string | null;
};

/** An approval as the API returns it, with the full origin string (interface 1) when it sends one. */
export type ApprovalView = Approval & { origin?: string | null };

/** The decision of a run, if the API sent a well-formed one. */
export function runDecision(run: RunView): RunDecision | null {
  const decision = run.decision;
  return decision && typeof decision === 'object' && typeof decision.action === 'string' ? decision : null;
}

/** POST /api/trade/position-tpsl (interface 2): sets (replaces) the TP/SL of an open position; null removes a leg. */
export interface PositionTpslRequest {
  instId: string;
  posSide?: 'net' | 'long' | 'short';
  tpTriggerPx?: string | null;
  slTriggerPx?: string | null;
}

export interface PositionTpslResult {
  instId: string;
  posSide: string;
  tpTriggerPx: string | null;
  slTriggerPx: string | null;
  algoIds: string[];
}
