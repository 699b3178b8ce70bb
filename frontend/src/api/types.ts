// Names for the generated OpenAPI types the app uses. Nothing here is hand-typed: every alias
// points into schema-api.ts / schema-agent.ts, produced by `pnpm gen:api` from the services'
// exported documents (plus openapi/pending/*.json for what they do not declare yet: nothing, today).
import type { components as ApiComponents } from './schema-api.ts';
import type { components as AgentComponents } from './schema-agent.ts';

type ApiSchema = ApiComponents['schemas'];
type AgentSchema = AgentComponents['schemas'];

export type Health = ApiSchema['Health'];
export type Ticker = ApiSchema['TickerOut'];
/** A `ticker` event of GET /api/stream (no `bar` / `barCandle`: those come with the REST snapshot). */
export type StreamTicker = ApiSchema['StreamTicker'];
export type Candle = ApiSchema['Candle'];
export type CandlesOut = ApiSchema['CandlesOut'];
export type Instrument = ApiSchema['Instrument'];
export type Balance = ApiSchema['Balance'];
export type BalanceEvent = ApiSchema['BalanceEvent'];
export type BalanceSnapshot = ApiSchema['BalanceSnapshot'];
export type InitialEquity = ApiSchema['InitialEquity'];
export type Position = ApiSchema['Position'];
export type Order = ApiSchema['Order'];
export type Fill = ApiSchema['Fill'];
export type OrderRequest = ApiSchema['OrderRequest'];
export type OrderPlaced = ApiSchema['OrderPlaced'];
export type ApprovalPending = ApiSchema['ApprovalPending'];
export type RiskRefusalError = ApiSchema['RiskRefusalError'];
export type RiskStatus = ApiSchema['RiskStatus'];
export type Approval = ApiSchema['Approval'];
export type StrategyRun = ApiSchema['StrategyRun'];
export type RunToolCall = ApiSchema['RunToolCall'];
export type RunOrder = ApiSchema['RunOrder'];
export type SchedulerStatus = ApiSchema['SchedulerStatus'];
export type SchedulerInstrument = ApiSchema['SchedulerInstrument'];
export type RunSource = StrategyRun['source'];
/** The events of GET /api/stream: event name → its `data`. */
export type StreamEvents = ApiSchema['StreamEvents'];
export type TriggerEvent = ApiSchema['TriggerEvent'];

export type AgentHealth = AgentSchema['AgentHealth'];
export type ChatRequest = AgentSchema['ChatRequest'];
export type ChatSession = AgentSchema['Session'];
export type ChatSessionDetail = AgentSchema['SessionDetail'];
export type ChatSessionMessage = AgentSchema['SessionMessage'];
export type ChatDeltaEvent = AgentSchema['ChatDeltaEvent'];
export type ChatToolCallEvent = AgentSchema['ChatToolCallEvent'];
export type ChatToolResultEvent = AgentSchema['ChatToolResultEvent'];
export type ChatFinalEvent = AgentSchema['ChatFinalEvent'];
export type ChatErrorEvent = AgentSchema['ChatErrorEvent'];
export type ChatSessionEvent = AgentSchema['ChatSessionEvent'];
export type PositionRecord = ApiSchema['PositionRecord'];
export type RiskLimits = ApiSchema['RiskLimits'];
export type RiskState = ApiSchema['RiskState'];
export type RiskRefusalRecord = ApiSchema['RiskRefusalRecord'];
export type SnapshotPage = ApiSchema['SnapshotPage'];
export type AccountSyncReport = ApiSchema['AccountSyncReport'];
