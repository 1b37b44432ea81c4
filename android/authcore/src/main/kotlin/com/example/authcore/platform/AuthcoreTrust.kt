package com.example.authcore.platform

import android.content.Context

/**
 * Platform certificate verification for authcore's HTTP client. On Android the Rust core verifies
 * server certificates with the platform's trust manager (rustls-platform-verifier: the system CAs,
 * and user-installed CAs only where the app's Network Security Configuration trusts them), which
 * it reaches through the JVM and so needs the application Context once per process.
 *
 * Call `AuthcoreTrust.init(this)` in `Application.onCreate`, before the first `AuthClient` or
 * `Authenticator` request. Until then every server certificate is refused (the `Untrusted` error).
 * Extra root CAs and SPKI pins of the client configs apply on top, as on every platform.
 */
object AuthcoreTrust {
    init {
        // uniffi's bindings load the library through JNA; a JNI native method needs the JVM's own
        // System.loadLibrary of the same file (the second load shares the first one's handle).
        System.loadLibrary("authcore_ffi")
    }

    /** Safe to call more than once (the first Context is kept). Throws IllegalStateException if JNI fails. */
    fun init(context: Context) {
        initPlatformTrust(context.applicationContext)
    }

    // bindings/src/android_trust.rs: Java_com_example_authcore_platform_AuthcoreTrust_initPlatformTrust
    @JvmStatic
    private external fun initPlatformTrust(context: Context)
}
