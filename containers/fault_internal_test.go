//go:build unix

package containers

import (
	"fmt"
	"os"
)

// EnvFaultStage names the stage at which a child test binary of the fault
// suite stops (prints "STAGE <stage> <dir>" and blocks) to be killed.
const EnvFaultStage = "DBSUITE_TEST_FAULT_STAGE"

func init() {
	want := os.Getenv(EnvFaultStage)
	if want == "" {
		return
	}
	stageHook = func(stage, dir string) {
		if stage != want {
			return
		}
		fmt.Printf("STAGE %s %s\n", stage, dir)
		select {} // until killed
	}
}
