#include "textflag.h"

// func callerFP() unsafe.Pointer
//
// Returns the frame pointer of the calling function, as the runtime's getfp does.
TEXT ·callerFP(SB),NOSPLIT|NOFRAME,$0-8
	MOVQ BP, ret+0(FP)
	RET
