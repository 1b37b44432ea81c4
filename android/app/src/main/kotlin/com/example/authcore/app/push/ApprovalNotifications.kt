package com.example.authcore.app.push

import android.Manifest
import android.annotation.SuppressLint
import android.app.NotificationChannel
import android.app.NotificationManager
import android.app.PendingIntent
import android.content.Context
import android.content.Intent
import android.content.pm.PackageManager
import android.os.Build
import androidx.core.app.NotificationCompat
import androidx.core.app.NotificationManagerCompat
import androidx.core.content.ContextCompat
import com.example.authcore.core.ApprovalRequest
import com.example.authcore.app.MainActivity

/** "Are you trying to sign in?" notifications; tapping one opens the approval screen. */
object ApprovalNotifications {
    private const val CHANNEL = "approvals"
    private const val EXTRA_REQUEST = "com.example.authcore.app.REQUEST_ID"

    @SuppressLint("MissingPermission") // checked above
    fun show(context: Context, request: ApprovalRequest) {
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.TIRAMISU &&
            ContextCompat.checkSelfPermission(context, Manifest.permission.POST_NOTIFICATIONS) != PackageManager.PERMISSION_GRANTED
        ) return // the user said no: the request still shows in the app's list
        val manager = context.getSystemService(NotificationManager::class.java)
        manager.createNotificationChannel(NotificationChannel(CHANNEL, "Sign-in requests", NotificationManager.IMPORTANCE_HIGH))
        val open = PendingIntent.getActivity(
            context,
            request.id.hashCode(),
            Intent(context, MainActivity::class.java)
                .putExtra(EXTRA_REQUEST, request.id)
                .addFlags(Intent.FLAG_ACTIVITY_SINGLE_TOP or Intent.FLAG_ACTIVITY_CLEAR_TOP),
            PendingIntent.FLAG_UPDATE_CURRENT or PendingIntent.FLAG_IMMUTABLE,
        )
        val notification = NotificationCompat.Builder(context, CHANNEL)
            .setSmallIcon(android.R.drawable.ic_lock_lock)
            .setContentTitle("Are you trying to sign in?")
            .setContentText("${request.accountLabel} · ${request.context.app}")
            .setCategory(NotificationCompat.CATEGORY_MESSAGE)
            .setPriority(NotificationCompat.PRIORITY_HIGH)
            .setAutoCancel(true)
            .setContentIntent(open)
            .build()
        NotificationManagerCompat.from(context).notify(request.id.hashCode(), notification)
    }

    fun requestId(intent: Intent?): String? = intent?.getStringExtra(EXTRA_REQUEST)
}
