// GitHub's expression evaluator (@actions/expressions) on cases read as JSON from stdin:
// [{"expr": "matrix.a || 'x'", "matrix": {...}}, ...] -> [{"kind": "String", "value": "x", "text": "x"}, ...]
// ("kind" "Error" with "message" when the expression does not parse or evaluate.)
import {readFileSync} from "node:fs";
import {Evaluator, Lexer, Parser, data} from "@actions/expressions";
import {kindStr} from "@actions/expressions/data/expressiondata";

const cases = JSON.parse(readFileSync(0, "utf8"));
const out = cases.map(({expr, matrix}) => {
  try {
    const tokens = new Lexer(expr).lex().tokens;
    const tree = new Parser(tokens, ["matrix"], []).parse();
    const context = JSON.parse(JSON.stringify({matrix}), data.reviver);
    const result = new Evaluator(tree, context).evaluate();
    return {
      kind: kindStr(result.kind),
      value: JSON.parse(JSON.stringify(result, data.replacer)),
      text: result.primitive ? result.coerceString() : null,
    };
  } catch (e) {
    return {kind: "Error", message: String(e.message ?? e)};
  }
});
process.stdout.write(JSON.stringify(out));
