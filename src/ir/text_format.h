// The IR's text form: one printer (ir::to_text) and its reader (ir::parse_graph). Pass tests state the
// graph before and after a pass in it; `kiln compile --dump-ir` writes it. docs/architecture.md shows a
// dump, docs/testing.md how pass tests use it.
//
//   graph main(%x: f32[batch,4], %mask: bool[?,4]) {
//     const %w: f32[4] = [0.5, -1, 0.001, 3.1415927]
//     const %W: f32[4,16] = random(3)            # a weight: seeded pseudo-random values
//     const %z: f32[64] = fill(0)
//     %y: f32[batch,4] = Add(%x, %w)
//     %a: f32[batch,4], %b: f32[batch,4] = com.microsoft::Custom<axis=-1, eps=1e-05, mode="tanh",
//         perm=[0,2,1], scales=[0.5,2.0], value=i64[1] [3]>(%y, _, %mask) @custom_node
//     return %a, %b
//   }
//
// Grammar (whitespace and newlines separate tokens anywhere; `#` starts a comment to the end of the line):
//
//   graph     := 'graph' NAME '(' [value ':' type {',' value ':' type}] ')' '{' {stmt} ret '}'
//   stmt      := 'const' value ':' type '=' payload
//              | [value ':' type {',' value ':' type}] '=' [NAME '::'] NAME ['<' attrs '>']
//                '(' [operand {',' operand}] ')' ['@' NAME]
//   ret       := 'return' [value {',' value}]
//   value     := '%' NAME             operand := value | '_'  (an omitted optional input)
//   type      := DTYPE '[' [dim {',' dim}] ']'           DTYPE: f32 f64 f16 bf16 i64 i32 i8 u8 bool
//   dim       := INT (>= 0) | NAME (a symbolic dim) | '?' (an anonymous one)
//   payload   := '[' [number {',' number}] ']'   every element, row-major (flat), exactly as many as
//                                                the shape holds; bool elements are true / false
//              | 'fill' '(' number ')'           every element the same
//              | 'random' '(' INT ')'            random_values(dtype, dims, seed), below
//   attrs     := NAME '=' attr {',' NAME '=' attr}
//   attr      := INT | FLOAT | STRING            int, float, string
//              | '[' [number {',' number}] ']'   ints, or floats when any element is a FLOAT
//              | 'floats' '[' ']'                an empty list of floats ('[]' is an empty list of ints)
//              | type payload                    a tensor, e.g. value=i64[2] [4, 5]
//   NAME      := bare | STRING               bare: letters, digits and _ . - / and '::' between them
//                                            (onnx::MatMul_337, /bert/encoder/layer.0/Add_output_0)
//   INT       := ['-'] digits                FLOAT: a number with '.' or an exponent, inf, -inf, nan
//   STRING    := '"' chars '"'               escapes \" \\ \n \t \xNN
//
// Meaning: values are defined before they are used (inputs, then statements in order), each once. A
// node's name is its first output's name unless '@ NAME' says otherwise. The reader builds IR and checks
// only the text: an op need not be known to Kiln and types are taken as written (ops::infer_node and
// ir::verify check those; pass tests run both). Errors are kiln::InvalidInputError naming the line and
// column, what was expected and what was found.
//
// Printing is deterministic and canonical: constants come first, in order of first use, then nodes in
// graph order; values nothing refers to are not printed; floats use the shortest text that reads back
// to the same bits. So for any graph ir::verify accepts whose value names are unique,
// parse_graph(to_text(g, TextOptions::exact())) is g again -- the same text, names, types, attributes
// and constants bit for bit (NaN payloads aside), value indices renumbered in text order. The default
// options summarise large constants (below), so such a dump is for reading, not for reading back.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "ir/graph.h"

namespace kiln::ir {

struct TextOptions {
  // Constants and tensor attributes with at most this many elements print every value; larger ones
  // print fill(v) when every element has the same bits, else "<N values>", which the reader rejects
  // (a dump of a real model would otherwise print every weight).
  int64_t max_literal = 8;
  // Print a larger constant whose elements are all the same as fill(v) (else as "<N values>" too).
  bool fill = true;
  // Every value printed: the text reads back to the same graph.
  static TextOptions exact() {
    TextOptions o;
    o.max_literal = std::numeric_limits<int64_t>::max();
    return o;
  }
};

std::string to_text(const Graph& g, const TextOptions& options = TextOptions());

// Reads a graph in the form above. Throws kiln::InvalidInputError on malformed text.
Graph parse_graph(std::string_view text);

// The values of `random(seed)`: a 64-bit LCG; element i takes the top 24 bits of state i+2 as
// u = bits / 2^24 * 2 - 1, uniform in [-1, 1). Float types hold u (rounded to nearest even for f16 and
// bf16, so a bf16 random(k) is the Cast of the f32 random(k)); integer types hold floor(8u), in [-8, 7]
// (u8: floor(8u) + 8); bool holds u >= 0. f32 values are the tests' random_f32 (tests/test_util.h).
Tensor random_values(DType dtype, const Dims& dims, uint64_t seed);

}  // namespace kiln::ir
