package com.example.authcore.platform

import android.os.Build
import androidx.biometric.BiometricManager.Authenticators.BIOMETRIC_STRONG
import androidx.biometric.BiometricManager.Authenticators.BIOMETRIC_WEAK
import androidx.biometric.BiometricManager.Authenticators.DEVICE_CREDENTIAL
import androidx.biometric.BiometricPrompt
import androidx.core.content.ContextCompat
import androidx.fragment.app.FragmentActivity
import androidx.lifecycle.Lifecycle
import com.example.authcore.UserVerification
import java.lang.ref.WeakReference
import kotlin.coroutines.resume
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.suspendCancellableCoroutine
import kotlinx.coroutines.withContext

/**
 * The core's [UserVerification]: a BiometricPrompt (strong biometric or the device PIN) over the
 * activity in front. The core calls it before it signs an approval; `reason` is the core's
 * sentence ("Approve sign-in to Globex: dave@globex.example"). A cancelled coroutine closes the
 * prompt; an error or dismissal answers `false`, and nothing is sent.
 */
class BiometricUserVerification(private val title: String = "Confirm it's you") : UserVerification {
    private var host = WeakReference<FragmentActivity>(null)

    /** Call from the activity's `onCreate`; the prompt shows over it while it is started. */
    fun attach(activity: FragmentActivity) {
        host = WeakReference(activity)
    }

    override suspend fun verifyUser(reason: String): Boolean = withContext(Dispatchers.Main) {
        val activity = host.get()
            ?.takeIf { it.lifecycle.currentState.isAtLeast(Lifecycle.State.STARTED) }
            ?: return@withContext false
        val executor = ContextCompat.getMainExecutor(activity)
        suspendCancellableCoroutine<Boolean> { continuation ->
            val prompt = BiometricPrompt(
                activity,
                executor,
                object : BiometricPrompt.AuthenticationCallback() {
                    override fun onAuthenticationSucceeded(result: BiometricPrompt.AuthenticationResult) {
                        if (continuation.isActive) continuation.resume(true)
                    }

                    override fun onAuthenticationError(errorCode: Int, errString: CharSequence) {
                        if (continuation.isActive) continuation.resume(false)
                    }
                    // onAuthenticationFailed: one unrecognised finger; the prompt stays up.
                },
            )
            prompt.authenticate(promptInfo(reason))
            continuation.invokeOnCancellation { executor.execute { prompt.cancelAuthentication() } }
        }
    }

    private fun promptInfo(reason: String) = BiometricPrompt.PromptInfo.Builder()
        .setTitle(title)
        .setSubtitle(reason)
        // With DEVICE_CREDENTIAL there is no negative button: the PIN is the alternative.
        // STRONG | DEVICE_CREDENTIAL is unsupported before Android 11 (androidx.biometric docs).
        .setAllowedAuthenticators(
            if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.R) {
                BIOMETRIC_STRONG or DEVICE_CREDENTIAL
            } else {
                BIOMETRIC_WEAK or DEVICE_CREDENTIAL
            },
        )
        .build()
}
