// kiln::Error's two kinds (invalid input vs internal) and printable(): messages are valid UTF-8 on one
// line whatever bytes a file held.
#include "kiln/error.h"
#include "test_util.h"

namespace kiln::test {
namespace {

TEST(Errors, FailIsInvalidInputAndChecksAreInternal) {
  EXPECT_THROW(fail("bad ", 1), InvalidInputError);
  EXPECT_THROW(KILN_CHECK(1 + 1 == 3, "arithmetic"), InternalError);
  try {
    KILN_CHECK(false, "context ", 7);
    FAIL() << "no throw";
  } catch (const InternalError& e) {
    EXPECT_NE(std::string(e.what()).find("internal error: check 'false' failed at"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("context 7"), std::string::npos) << e.what();
  }
}

TEST(Errors, RethrowWithContextKeepsTheKind) {
  try {
    try {
      KILN_CHECK(false);
    } catch (const Error& e) {
      rethrow_with_context(e, "node 'n' (Add): ");
    }
  } catch (const InternalError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("node 'n' (Add): internal error:", 0), 0u) << e.what();
  }
  try {
    try {
      fail("shape [2]");
    } catch (const Error& e) {
      rethrow_with_context(e, "step ", 3, ": ");
    }
  } catch (const InternalError&) {
    FAIL() << "became internal";
  } catch (const InvalidInputError& e) {
    EXPECT_STREQ(e.what(), "step 3: shape [2]");
  }
}

TEST(Errors, PrintableKeepsUtf8AndEscapesTheRest) {
  EXPECT_EQ(printable("plain ascii"), "plain ascii");
  EXPECT_EQ(printable("caf\xC3\xA9 \xE4\xB8\xAD \xF0\x9F\x98\x80"), "caf\xC3\xA9 \xE4\xB8\xAD \xF0\x9F\x98\x80");  // é 中 😀
  EXPECT_EQ(printable("a\nb\tc\x7F"), "a\\x0Ab\\x09c\\x7F");
  EXPECT_EQ(printable(std::string("nul\0x", 5)), "nul\\x00x");
  EXPECT_EQ(printable("\xFF\xFE"), "\\xFF\\xFE");
  EXPECT_EQ(printable("\xC0\xAF"), "\\xC0\\xAF");              // overlong '/'
  EXPECT_EQ(printable("\xED\xA0\x80"), "\\xED\\xA0\\x80");      // a UTF-16 surrogate
  EXPECT_EQ(printable("\xF4\x90\x80\x80"), "\\xF4\\x90\\x80\\x80");  // beyond U+10FFFF
  EXPECT_EQ(printable("cut \xE4\xB8"), "cut \\xE4\\xB8");       // truncated sequence
  EXPECT_EQ(printable(printable("\xFF\n")), printable("\xFF\n"));  // idempotent: safe to apply twice
  // Every error message goes through it.
  try {
    fail("node '\xFF\xFE' has\na newline");
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "node '\\xFF\\xFE' has\\x0Aa newline");
  }
}

}  // namespace
}  // namespace kiln::test
