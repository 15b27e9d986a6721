export { serialize, deserialize, stripUndefined } from "./codec.js";
export { canonicalJson } from "./canonical-json.js";
