/*
 * test_magic.c - the `magic` module (libmagic): type() and mime_type() of small buffers, as
 * yara 4.2.3 reports them with Debian's libmagic database; undefined on empty data.
 */
#include <string.h>

#include "rule_test.h"

#define R(cond) "import \"magic\" rule t { condition: " cond " }"

int main(void)
{
    assert_true_rule(R("magic.type() == \"ASCII text\" and magic.mime_type() == \"text/plain\""),
                     "hello world\n");
    assert_true_rule(R("not defined magic.type() and not defined magic.mime_type()"), "");
    assert_true_rule_blob(R("magic.mime_type() == \"application/x-object\" or "
                            "magic.type() contains \"ELF\""),
                          "\x7f" "ELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x01\0\x3e\0\x01\0\0\0", 24);
    assert_true_rule(R("magic.type() contains \"PDF\""), "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n");
    assert_error(R("magic.type(1) == \"\""));
    assert_error(R("magic.foo() == \"\""));
    RT_DONE();
}
