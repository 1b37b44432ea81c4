package com.example.authcore.platform

import android.app.Activity
import android.app.KeyguardManager
import android.content.Intent
import android.os.Build
import androidx.activity.result.ActivityResultLauncher
import androidx.activity.result.contract.ActivityResultContracts
import androidx.biometric.BiometricManager
import androidx.biometric.BiometricManager.Authenticators.BIOMETRIC_STRONG
import androidx.biometric.BiometricManager.Authenticators.DEVICE_CREDENTIAL
import androidx.biometric.BiometricPrompt
import androidx.core.content.ContextCompat
import androidx.fragment.app.FragmentActivity
import androidx.lifecycle.Lifecycle
import com.example.authcore.UserVerification
import java.lang.ref.WeakReference
import kotlin.coroutines.resume
import kotlinx.coroutines.CancellableContinuation
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.suspendCancellableCoroutine
import kotlinx.coroutines.withContext

/**
 * The core's [UserVerification]: a BiometricPrompt (strong biometric or the device PIN) over the
 * activity in front. The core calls it before it signs an approval; `reason` is the core's
 * sentence ("Approve sign-in to Globex: dave@globex.example"). A cancelled coroutine closes the
 * prompt; an error or dismissal answers `false`, and nothing is sent.
 *
 * What the prompt accepts must unlock the auth-bound device key ([KeystoreDeviceKeys]: strong
 * biometric or device credential). A weak (Class 2) biometric never unlocks a Keystore key, so it
 * is never offered:
 * - Android 11+: `BIOMETRIC_STRONG or DEVICE_CREDENTIAL` in one prompt.
 * - Before Android 11 that combination is unsupported (androidx.biometric docs), and
 *   `BIOMETRIC_WEAK or DEVICE_CREDENTIAL` would accept a face unlock that cannot unlock the key.
 *   So: `BIOMETRIC_STRONG` alone with a "Use PIN" button when a strong biometric is enrolled; the
 *   PIN (or with none enrolled, at once) is the system's confirm-credential screen
 *   (`KeyguardManager.createConfirmDeviceCredentialIntent`), which unlocks time-bound keys.
 */
class BiometricUserVerification(private val title: String = "Confirm it's you") : UserVerification {
    private var host = WeakReference<FragmentActivity>(null)
    private var confirmCredential: ActivityResultLauncher<Intent>? = null
    private var credentialAnswer: CancellableContinuation<Boolean>? = null

    /**
     * Call from the activity's `onCreate` (before it is started: the confirm-credential screen is
     * registered for a result there); the prompt shows over it while it is started.
     */
    fun attach(activity: FragmentActivity) {
        host = WeakReference(activity)
        confirmCredential = activity.registerForActivityResult(ActivityResultContracts.StartActivityForResult()) {
            answerCredential(it.resultCode == Activity.RESULT_OK)
        }
    }

    override suspend fun verifyUser(reason: String): Boolean = withContext(Dispatchers.Main) {
        val activity = host.get()
            ?.takeIf { it.lifecycle.currentState.isAtLeast(Lifecycle.State.STARTED) }
            ?: return@withContext false
        when {
            Build.VERSION.SDK_INT >= Build.VERSION_CODES.R ->
                biometric(activity, reason, BIOMETRIC_STRONG or DEVICE_CREDENTIAL) == Answer.Verified
            strongBiometricEnrolled(activity) ->
                when (biometric(activity, reason, BIOMETRIC_STRONG)) {
                    Answer.Verified -> true
                    Answer.UsePin -> deviceCredential(activity, reason)
                    Answer.No -> false
                }
            else -> deviceCredential(activity, reason)
        }
    }

    private enum class Answer { Verified, UsePin, No }

    private suspend fun biometric(activity: FragmentActivity, reason: String, authenticators: Int): Answer {
        val executor = ContextCompat.getMainExecutor(activity)
        return suspendCancellableCoroutine { continuation ->
            val prompt = BiometricPrompt(
                activity,
                executor,
                object : BiometricPrompt.AuthenticationCallback() {
                    override fun onAuthenticationSucceeded(result: BiometricPrompt.AuthenticationResult) {
                        if (continuation.isActive) continuation.resume(Answer.Verified)
                    }

                    override fun onAuthenticationError(errorCode: Int, errString: CharSequence) {
                        val answer = if (errorCode == BiometricPrompt.ERROR_NEGATIVE_BUTTON) Answer.UsePin else Answer.No
                        if (continuation.isActive) continuation.resume(answer)
                    }
                    // onAuthenticationFailed: one unrecognised finger; the prompt stays up.
                },
            )
            prompt.authenticate(promptInfo(reason, authenticators))
            continuation.invokeOnCancellation { executor.execute { prompt.cancelAuthentication() } }
        }
    }

    private fun promptInfo(reason: String, authenticators: Int) = BiometricPrompt.PromptInfo.Builder()
        .setTitle(title)
        .setSubtitle(reason)
        .setAllowedAuthenticators(authenticators)
        .apply {
            // With DEVICE_CREDENTIAL there is no negative button: the PIN is in the prompt.
            if (authenticators and DEVICE_CREDENTIAL == 0) setNegativeButtonText("Use PIN")
        }
        .build()

    private fun strongBiometricEnrolled(activity: FragmentActivity) =
        BiometricManager.from(activity).canAuthenticate(BIOMETRIC_STRONG) == BiometricManager.BIOMETRIC_SUCCESS

    /** The system's PIN / pattern / password screen; `false` without a screen lock or launcher. */
    @Suppress("DEPRECATION") // the way to confirm the credential for a time-bound key before API 30
    private suspend fun deviceCredential(activity: FragmentActivity, reason: String): Boolean {
        val keyguard = activity.getSystemService(KeyguardManager::class.java) ?: return false
        val intent = keyguard.createConfirmDeviceCredentialIntent(title, reason) ?: return false
        val launcher = confirmCredential ?: return false
        return suspendCancellableCoroutine { continuation ->
            credentialAnswer?.cancel()
            credentialAnswer = continuation
            launcher.launch(intent)
            // The system screen cannot be closed from here; its answer then finds no one waiting.
            continuation.invokeOnCancellation { if (credentialAnswer === continuation) credentialAnswer = null }
        }
    }

    private fun answerCredential(verified: Boolean) {
        val continuation = credentialAnswer ?: return
        credentialAnswer = null
        if (continuation.isActive) continuation.resume(verified)
    }
}
