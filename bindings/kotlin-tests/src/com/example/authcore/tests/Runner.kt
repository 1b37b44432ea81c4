package com.example.authcore.tests

import kotlin.system.exitProcess
import org.junit.runner.Description
import org.junit.runner.JUnitCore
import org.junit.runner.notification.Failure
import org.junit.runner.notification.RunListener

/** Runs every scenario and closes with exactly one line: `kotlin: N passed, N failed`. */
fun main() {
    val failed = mutableSetOf<Description>()
    val core = JUnitCore()
    core.addListener(object : RunListener() {
        override fun testFailure(failure: Failure) {
            failed.add(failure.description)
            println("FAILED ${failure.description.className}.${failure.description.methodName}")
            println(failure.trace)
        }

        override fun testFinished(description: Description) {
            if (description !in failed) println("ok     ${description.className}.${description.methodName}")
        }
    })
    val result = core.run(
        SignInTest::class.java,
        OtpCodesTest::class.java,
        PhoneApprovalTest::class.java,
        CancellationTest::class.java,
        CallbacksTest::class.java,
        StreamsTest::class.java,
        // last: Alice ends with two phones, which changes how she signs in
        StepUpTest::class.java,
    )
    val failures = result.failureCount
    val passed = result.runCount - failed.size
    println("kotlin: $passed passed, ${maxOf(failures, failed.size)} failed")
    exitProcess(if (result.wasSuccessful()) 0 else 1)
}
