package pam

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/otpgate/otpgate/internal/testenv"
)

// TestModuleAnswerFuzz builds pam/module/fuzz_answer.c with clang's
// libFuzzer, AddressSanitizer and UndefinedBehaviorSanitizer and runs it
// for a few seconds from the seed answers in module/testdata/answers.
func TestModuleAnswerFuzz(t *testing.T) {
	if testing.Short() {
		t.Skip("fuzzing takes seconds")
	}
	clang := testenv.LookPath(t, "clang")
	built(t) // the same compiler checks first, with gcc
	dir := t.TempDir()
	bin := filepath.Join(dir, "fuzz_answer")
	build := exec.Command(clang, "-g", "-O1", "-Wall", "-Wextra", "-Werror", "-fsanitize=fuzzer,address,undefined",
		"-fno-sanitize-recover=undefined", "-o", bin, "module/fuzz_answer.c", "-lpam")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("clang: %v\n%s", err, out)
	}
	corpus := filepath.Join(dir, "corpus")
	if err := os.Mkdir(corpus, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-max_total_time=5", "-max_len=600", "-artifact_prefix="+dir+"/", corpus, "module/testdata/answers")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("fuzz_answer found a failure: %v\n%s", err, out)
	}
	if i := bytes.LastIndex(out, []byte("Done ")); i >= 0 {
		t.Logf("%s", bytes.TrimSpace(out[i:]))
	}
}
