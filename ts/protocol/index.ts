export { serialize, deserialize, stripUndefined } from "./codec.js";
