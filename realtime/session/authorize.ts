/** Resolving a channel's postgres_changes bindings to tables the claims may read. */
import type { Claims } from "../auth/claims.ts";
import type { Context } from "../context.ts";
import type { TableBinding } from "../fanout/subscriber.ts";
import type { Binding } from "../changes/bindings.ts";
import { filterColumns } from "../changes/filter.ts";

export interface Resolved {
  /** Bound tables the claims may read rows of (registered with the fan-out). */
  tables: TableBinding[];
  /**
   * `schema.table` of bound tables the claims may read no row of (`schema.*` for a `*`
   * binding whose tables they may read none of). Such a binding stays on the channel but
   * delivers nothing until an `access_token` whose claims may read the table (as with
   * Supabase, where RLS filters every row out).
   */
  blind: string[];
}

/**
 * Resolves bindings (expanding `table: "*"` to the schema's realtime tables) and checks
 * table access and filter columns. Returns the resolved tables, or a client-safe error reason
 * for bindings that can never work (an unpublished table, a filter or select on a column the
 * role cannot read). With `lenient` (token refresh on a live channel), those bindings become
 * blind instead: a channel is never ended because its new claims see less.
 */
export async function resolveTables(
  ctx: Context,
  claims: Claims,
  bindings: Binding[],
  lenient = false,
): Promise<Resolved | string> {
  const tables: TableBinding[] = [];
  const blind: string[] = [];
  for (const binding of bindings) {
    const published = ctx.authorizer.tables(binding.schema);
    const wildcard = binding.table === "*";
    if (!wildcard && published && !published.includes(binding.table)) {
      const name = `${binding.schema}.${binding.table}`;
      if (lenient) {
        blind.push(name);
        continue;
      }
      return `RealtimeDisabledForTable: ${name} is not available for realtime`;
    }
    for (const table of wildcard ? (published ?? []) : [binding.table]) {
      const name = `${binding.schema}.${table}`;
      const access = await ctx.authorizer.tableAccess(claims, binding.schema, table);
      if (!access.allowed) {
        // Row-level: these claims see no row of the table (now). Not an error.
        if (!wildcard && !blind.includes(name)) blind.push(name);
        continue;
      }
      const hidden = [...filterColumns(binding.conditions), ...(binding.select ?? [])]
        .find((column) => access.columns && !access.columns.has(column));
      if (hidden !== undefined) {
        if (lenient) {
          if (!blind.includes(name)) blind.push(name);
          continue;
        }
        return `Unauthorized: column ${hidden} of ${name} is not readable`;
      }
      tables.push({ binding, schema: binding.schema, table, access });
    }
    // `*` stands for the tables the claims may read: blind when that is none of them.
    const all = `${binding.schema}.*`;
    if (wildcard && !tables.some((t) => t.binding === binding) && !blind.includes(all)) {
      blind.push(all);
    }
  }
  return { tables, blind };
}

/** The `system` message telling a client which bound tables it currently sees nothing of. */
export function blindMessage(claims: Claims, blind: string[]): string {
  return `Unauthorized: role ${claims.role} may read no row of ${blind.join(", ")}; ` +
    `no changes of ${blind.length === 1 ? "it" : "them"} are sent until an access_token ` +
    `that may`;
}
