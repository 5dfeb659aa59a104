import { OperationNodeTransformer, type DataTypeNode, type KyselyPlugin, type PluginTransformQueryArgs, type PluginTransformResultArgs, type QueryResult, type RootOperationNode, type UnknownRow } from 'kysely';

/**
 * Migrations are written once, with the types SQLite databases were created with.
 * On PostgreSQL they run through this plugin so the schema behaves as it does on SQLite:
 * - varchar(n) becomes text: SQLite never enforced the lengths, and values past them
 *   (a long key name, a long model path) must not start failing on PostgreSQL;
 * - real becomes double precision: SQLite's REAL is 8 bytes, PostgreSQL's only 4.
 * SQLite databases are created exactly as before (the plugin is not used there).
 */
export class PortableDdlPlugin implements KyselyPlugin {
  readonly #types = new PostgresTypes();

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return this.#types.transformNode(args.node, args.queryId);
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}

class PostgresTypes extends OperationNodeTransformer {
  protected override transformDataType(node: DataTypeNode): DataTypeNode {
    if (node.dataType.startsWith('varchar')) return Object.freeze({ ...node, dataType: 'text' });
    if (node.dataType === 'real') return Object.freeze({ ...node, dataType: 'double precision' });
    return node;
  }
}
