/*
 * A libFuzzer target for pam_otpgate's parser of the helper's answer line
 * (pam/fuzz_test.go builds and runs it with clang when clang is there).
 * call_helper hands parse_answer one line of at most ANSWER_MAX bytes,
 * newline removed, without NUL bytes; parse_answer must not crash, must
 * let a user in only for the exact lines "ok" and "no_second_factor", and
 * must leave no control byte in the message it shows or logs.
 */
#include "pam_otpgate.c" /* first: it sets _GNU_SOURCE */

#include <assert.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[ANSWER_MAX + 1], copy[ANSWER_MAX + 1];
	const char *message;

	if (size > 0 && data[size - 1] == '\n')
		size--; /* as call_helper removes it */
	if (size > ANSWER_MAX - 1 || memchr(data, '\0', size) || memchr(data, '\n', size))
		return 0; /* call_helper refuses these before parsing */
	memcpy(line, data, size);
	line[size] = '\0';
	memcpy(copy, line, size + 1);
	enum result r = parse_answer(line, &message);
	assert(r <= ANS_NONE);
	if (r == ANS_OK)
		assert(strcmp(copy, "ok") == 0);
	if (r == ANS_NO_SECOND_FACTOR)
		assert(strcmp(copy, "no_second_factor") == 0);
	for (const unsigned char *c = (const unsigned char *)message; *c; c++)
		assert(*c >= 0x20 && *c != 0x7f);
	return 0;
}
