// kiln tokenize: what the model will see for a text — tokens, ids, token types, attention mask.
#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "kiln/error.h"
#include "kiln/model.h"
#include "kiln/text.h"
#include "kiln/tokenizer.h"

namespace kiln::cli {

Command add_tokenize(CLI::App& app) {
  auto* cmd = app.add_subcommand("tokenize", "Show the tokens, ids, token types and attention mask of a text");
  struct Args {
    std::string artifact, vocab, tokenizer, text, pair, lines;
    int64_t max_length = 0;
    bool json = false, cased = false;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("artifact", args->artifact, "Compiled .kiln file with a tokenizer (kiln compile --vocab ...)");
  cmd->add_option("--vocab", args->vocab, "BERT vocab.txt (WordPiece)");
  cmd->add_option("--tokenizer", args->tokenizer, "Hugging Face tokenizer.json (WordPiece model)");
  cmd->add_flag("--cased", args->cased, "With --vocab: keep case and accents (default: uncased, as bert-base-uncased)");
  CLI::Option* text_opt = cmd->add_option("--text", args->text, "The text");
  cmd->add_option("--text-pair", args->pair, "A second text (sentence pairs: [SEP] between, token types 1)");
  cmd->add_option("--max-length", args->max_length, "Truncate (longest first) and pad to this many tokens");
  cmd->add_option("--lines", args->lines, "Tokenize every line of this file instead (JSON Lines out)");
  cmd->add_flag("--json", args->json, "One JSON object: tokens, ids, token_type_ids, attention_mask");
  return [args, text_opt]() {
    const int sources = !args->artifact.empty() + !args->vocab.empty() + !args->tokenizer.empty();
    if (sources != 1) fail("give exactly one of ARTIFACT, --vocab FILE or --tokenizer FILE");
    if (args->max_length < 0) fail("--max-length must be >= 0, got ", args->max_length);
    if (!text_opt->count() && args->lines.empty()) fail("give --text TEXT (or --lines FILE)");
    const WordPieceTokenizer tok = !args->vocab.empty() ? WordPieceTokenizer::from_vocab_file(args->vocab, !args->cased)
                                   : !args->tokenizer.empty() ? WordPieceTokenizer::from_tokenizer_json(args->tokenizer)
                                                              : tokenizer_of(*Model::open(args->artifact));
    auto as_json = [](const Encoding& e) {
      return nlohmann::json{{"tokens", e.tokens}, {"ids", e.ids}, {"token_type_ids", e.token_type_ids}, {"attention_mask", e.attention_mask}};
    };
    if (!args->lines.empty()) {
      std::ifstream f(args->lines);
      if (!f) fail("cannot read '", args->lines, "': ", std::strerror(errno));
      size_t n = 0;
      for (std::string line; std::getline(f, line);) {
        ++n;
        try {
          std::printf("%s\n", as_json(tok.encode(line, nullptr, args->max_length, args->max_length > 0)).dump().c_str());
        } catch (const Error& e) {
          fail(args->lines, ":", n, ": ", e.what());
        }
      }
      return 0;
    }
    const Encoding e = tok.encode(args->text, text_opt->count() && !args->pair.empty() ? &args->pair : nullptr, args->max_length,
                                  args->max_length > 0);
    if (args->json) {
      std::printf("%s\n", as_json(e).dump().c_str());
      return 0;
    }
    std::printf("%-6s %-24s %8s  %s  %s\n", "pos", "token", "id", "type", "mask");
    for (size_t i = 0; i < e.tokens.size(); ++i)
      std::printf("%-6zu %-24s %8lld  %4lld  %4lld\n", i, e.tokens[i].c_str(), static_cast<long long>(e.ids[i]),
                  static_cast<long long>(e.token_type_ids[i]), static_cast<long long>(e.attention_mask[i]));
    std::printf("%zu tokens (vocabulary %zu, %s)\n", e.tokens.size(), tok.vocab_size(), tok.lowercase() ? "uncased" : "cased");
    return 0;
  };
}

}  // namespace kiln::cli
