import { afterAll, beforeAll } from "vitest";
import { SqlStore } from "../../store/sql/sql-store.js";
import { describeStoreConformance } from "../conformance/store-conformance.js";
import { startMariaDb, type MariaDbServerHandle } from "../harness/mariadb-server.js";

let server: MariaDbServerHandle;
let stores = 0;

beforeAll(async () => {
  server = await startMariaDb();
});

afterAll(async () => {
  await server.cleanup();
});

// Each test gets its own table prefix (its own tables, migrated on connect) on the one server.
describeStoreConformance("sql store on mariadb", {
  create: (policy) =>
    SqlStore.connect(server.url, { tablePrefix: `t${++stores}_`, poolSize: 4, policy: policy ?? {} }),
});
