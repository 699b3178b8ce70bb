import { useI18n } from '../i18n.tsx';
import { toolTable } from '../lib/tool-table.ts';
import { JsonBlock } from './RunDetail.tsx';

/** A tool's result as a table when it is tabular (lists of records, flat records), else as JSON. */
export function ToolResult({ value }: { value: unknown }) {
  const { t } = useI18n();
  const table = toolTable(value);
  if (!table) return <JsonBlock value={value} />;
  const flat = table.columns.length === 2 && table.columns[0] === 'key';
  return (
    <div className="table-wrap tool-table" data-testid="tool-table">
      <table>
        {!flat && <thead><tr>{table.columns.map((c) => <th key={c}>{c}</th>)}</tr></thead>}
        <tbody>
          {table.rows.map((row, i) => (
            <tr key={i}>{row.map((c, j) => (flat && j === 0 ? <th key={j}>{c}</th> : <td key={j}>{c}</td>))}</tr>
          ))}
        </tbody>
      </table>
      {table.more > 0 && <p className="muted small">{t('chat.moreRows', { n: table.more })}</p>}
    </div>
  );
}
