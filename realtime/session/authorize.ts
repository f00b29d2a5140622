/** Resolving a channel's postgres_changes bindings to tables the claims may read. */
import type { Claims } from "../auth/claims.ts";
import type { Context } from "../context.ts";
import type { TableBinding } from "../fanout/subscriber.ts";
import type { Binding } from "../postgres/bindings.ts";
import { filterColumns } from "../postgres/filter.ts";

/**
 * Resolves bindings (expanding `table: "*"` to the schema's realtime tables) and checks
 * table access and filter columns. Returns the resolved list, or a client-safe error reason.
 */
export async function resolveTables(
  ctx: Context,
  claims: Claims,
  bindings: Binding[],
): Promise<TableBinding[] | string> {
  const out: TableBinding[] = [];
  for (const binding of bindings) {
    const published = ctx.authorizer.tables(binding.schema);
    const wildcard = binding.table === "*";
    if (!wildcard && published && !published.includes(binding.table)) {
      return `RealtimeDisabledForTable: ${binding.schema}.${binding.table} is not available for realtime`;
    }
    for (const table of wildcard ? (published ?? []) : [binding.table]) {
      const access = await ctx.authorizer.tableAccess(claims, binding.schema, table);
      if (!access.allowed) {
        if (wildcard) continue;
        return `Unauthorized: ${
          access.reason ?? "permission denied"
        } for ${binding.schema}.${table}`;
      }
      for (const column of [...filterColumns(binding.conditions), ...(binding.select ?? [])]) {
        if (access.columns && !access.columns.has(column)) {
          return `Unauthorized: column ${column} of ${binding.schema}.${table} is not readable`;
        }
      }
      out.push({ binding, schema: binding.schema, table, access });
    }
  }
  return out;
}
